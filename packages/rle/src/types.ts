/** Height and width of a mask in pixels. Any object with these two fields works, a {@link BinaryMask} included. */
export interface MaskShape {
  readonly height: number;
  readonly width: number;
}

/** A row-major binary mask with its shape: pixel (r, c) is `data[r * width + c]`, 0 = off, anything else = on. */
export interface BinaryMask extends MaskShape {
  readonly data: Uint8Array;
}
