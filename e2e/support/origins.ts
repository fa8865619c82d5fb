// Two origins on purpose: host pages are served by one, the bundle and API by the other.
export const API_ORIGIN = process.env.MOMENTUM_API_ORIGIN ?? 'http://127.0.0.1:4510';
export const HOST_ORIGIN = process.env.MOMENTUM_HOST_ORIGIN ?? 'http://127.0.0.1:4511';
