/** Height and width of a mask in pixels. */
export interface MaskShape {
  readonly height: number;
  readonly width: number;
}
