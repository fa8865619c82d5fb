// Debian's chromium; Playwright's own browser download cannot work on these machines.
export const launchOptions = {
  executablePath: process.env.MOMENTUM_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic',
  ],
};
