/** Class colours (RGB) for ClassId 1..4, then repeated; the same as the training report's. */
export const CLASS_COLOURS: readonly (readonly [number, number, number])[] = [
  [230, 57, 70],
  [42, 157, 143],
  [69, 123, 230],
  [244, 162, 97],
];

