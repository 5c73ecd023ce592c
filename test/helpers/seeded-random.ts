/**
 * A small seeded PRNG (mulberry32) for reproducible fuzz-style tests: `rand(n)` is an integer in
 * [0, n). A plain LCG mod 2^31 is not enough here — its low bits cycle (rand(2) alternates).
 */
export function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
