import type { ArchiveLayoutType } from '@parlor/protocol';

/** A rectangle of the composed picture, in pixels; even sizes and offsets (yuv420p). */
export interface Tile {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The layouts Parlor draws; `custom` (a stylesheet) is drawn as `bestFit`. */
export type DrawnLayoutType = Exclude<ArchiveLayoutType, 'custom'>;

/**
 * Where `count` streams go in a `width`×`height` picture. For `pip` and the presentations the
 * first tile is the focus stream's (the large one); `bestFit` treats every stream alike.
 * - bestFit: a grid, as square as the picture allows, its last row centred.
 * - pip: the focus fills the picture; the others are small tiles along the bottom, from the right.
 * - verticalPresentation: the focus on the left, the others in a column on the right.
 * - horizontalPresentation: the focus on top, the others in a row below.
 */
export function layoutTiles(type: DrawnLayoutType, count: number, width: number, height: number): Tile[] {
  if (count <= 0) return [];
  if (count === 1) return [tile(0, 0, width, height)];
  switch (type) {
    case 'bestFit':
      return grid(count, width, height);
    case 'pip':
      return pip(count, width, height);
    case 'verticalPresentation': {
      const column = even(width / 5);
      const others = strip(count - 1, width - column, 0, column, height, 'column');
      return [tile(0, 0, width - column, height), ...others];
    }
    case 'horizontalPresentation': {
      const row = even(height / 5);
      const others = strip(count - 1, 0, height - row, width, row, 'row');
      return [tile(0, 0, width, height - row), ...others];
    }
  }
}

function grid(count: number, width: number, height: number): Tile[] {
  const landscape = width >= height;
  const long = Math.ceil(Math.sqrt(count));
  const short = Math.ceil(count / long);
  const columns = landscape ? long : short;
  const rows = landscape ? short : long;
  const tileWidth = even(width / columns);
  const tileHeight = even(height / rows);
  const tiles: Tile[] = [];
  for (let index = 0; index < count; index++) {
    const row = Math.floor(index / columns);
    const inRow = Math.min(columns, count - row * columns);
    const left = even((width - inRow * tileWidth) / 2);
    const top = even((height - rows * tileHeight) / 2);
    tiles.push(tile(left + (index % columns) * tileWidth, top + row * tileHeight, tileWidth, tileHeight));
  }
  return tiles;
}

function pip(count: number, width: number, height: number): Tile[] {
  const smallWidth = even(width / 4);
  const smallHeight = even(height / 4);
  const margin = even(Math.min(width, height) / 40);
  const tiles = [tile(0, 0, width, height)];
  for (let index = 1; index < count; index++) {
    const x = width - index * (smallWidth + margin);
    tiles.push(tile(Math.max(0, x), height - smallHeight - margin, smallWidth, smallHeight));
  }
  return tiles;
}

/** `count` equal tiles filling a rectangle along a column or a row. */
function strip(
  count: number,
  x: number,
  y: number,
  width: number,
  height: number,
  direction: 'column' | 'row',
): Tile[] {
  return Array.from({ length: count }, (_, index) => {
    if (direction === 'column') {
      const each = even(height / count);
      return tile(x, y + index * each, width, each);
    }
    const each = even(width / count);
    return tile(x + index * each, y, each, height);
  });
}

function tile(x: number, y: number, width: number, height: number): Tile {
  return { x: even(x), y: even(y), width, height };
}

/** Rounds down to an even number (chroma is subsampled by 2 in both directions). */
function even(value: number): number {
  return 2 * Math.floor(value / 2);
}
