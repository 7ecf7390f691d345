// Writes favicon.ico (a 32x32 PNG inside an ICO header): browsers ask for /favicon.ico on pages
// that name no icon, such as the hub's /docs, and a 404 there is a console error.
import { crc32, deflateSync } from "node:zlib";

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

function png(size, pixel) {
  const rows = [];
  for (let y = 0; y < size; y += 1) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0, then RGBA
    for (let x = 0; x < size; x += 1) row.set(pixel(x, y), 1 + x * 4);
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The HostPulse mark: a blue tile with a white pulse line. */
export function faviconIco() {
  const size = 32;
  const pulse = [18, 18, 18, 18, 18, 18, 18, 18, 18, 16, 13, 10, 9, 12, 16, 20, 24, 25, 22, 19, 16, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15];
  const image = png(size, (x, y) => {
    const corner = Math.min(x, size - 1 - x) + Math.min(y, size - 1 - y) < 4;
    if (corner) return [0, 0, 0, 0];
    const onLine = x >= 3 && x <= 28 && Math.abs(y - pulse[x]) <= 1;
    return onLine ? [255, 255, 255, 255] : [37, 99, 235, 255];
  });
  const dir = Buffer.alloc(22);
  dir.writeUInt16LE(0, 0);
  dir.writeUInt16LE(1, 2); // icon
  dir.writeUInt16LE(1, 4); // one image
  dir.set([size, size, 0, 0], 6);
  dir.writeUInt16LE(1, 10); // planes
  dir.writeUInt16LE(32, 12); // bits per pixel
  dir.writeUInt32LE(image.length, 14);
  dir.writeUInt32LE(22, 18);
  return Buffer.concat([dir, image]);
}
