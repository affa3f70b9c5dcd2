/** Class colours (RGB) for ClassId 1..4, then repeated; the same as the training report's. */
export const CLASS_COLOURS: readonly (readonly [number, number, number])[] = [
  [230, 57, 70],
  [42, 157, 143],
  [69, 123, 230],
  [244, 162, 97],
];

/** The colour of a 1-based class id as CSS `rgb(...)`. */
export function classColour(classId: number): string {
  const [r, g, b] = CLASS_COLOURS[(classId - 1) % CLASS_COLOURS.length]!;
  return `rgb(${r}, ${g}, ${b})`;
}
