/** The A/B arm a widget bucket lands in, computed as core/src/offer.rs does (`in_holdout`,
 * `assign_variant`), so a test can pin a shopper to an arm through `momentum:ab-bucket`. */
export function inHoldout(bucket: number, percent: number) {
  const draw = ((BigInt(bucket) * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn) >> 32n;
  return Number(draw % 100n) < percent;
}

export function variantOf(bucket: number, variants: { id: string; weight: number }[]) {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  if (total === 0) return null;
  let point = bucket % total;
  for (const v of variants) {
    if (point < v.weight) return v.id;
    point -= v.weight;
  }
  return null;
}

/** The first bucket from 1 up for which `wanted` holds. */
export function bucketWhere(wanted: (bucket: number) => boolean) {
  for (let bucket = 1; bucket < 100_000; bucket++) if (wanted(bucket)) return bucket;
  throw new Error('no bucket found');
}

/** Pins the page's widgets to `bucket` (with `sticky: 'browser'`, as e2e/fixtures/any-offer.html mounts). */
export const pinBucket = (value: string) => localStorage.setItem('momentum:ab-bucket', value);
