// Debian's Chromium for browser tests, launched so that it needs no network and leaves nothing behind
// (the machine's network is closed: background services would only fail, many at a time).
export const CHROMIUM = process.env.XMARGIN_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
