// Init script: records every momentum:* event and every CSP violation on the page, for tests to
// read with expect.poll. The event names are the documented ones (README, "Events").
export const EVENT_NAMES = [
  'ready', 'error', 'checkout_initiated', 'bump_toggled', 'checkout_completed', 'payment_failed', 'receipt_shown',
  'upsell_offered', 'upsell_accepted', 'upsell_declined', 'upsell_failed',
  'downsell_offered', 'downsell_accepted', 'downsell_declined', 'downsell_failed',
  'exit_intent_detected', 'exit_offer_shown', 'exit_offer_accepted', 'exit_offer_declined',
] as const;

export type RecordedEvent = { type: string; detail: any; target: string };

export function installRecorder(names: readonly string[]) {
  const w = window as any;
  w.__momentumEvents = [];
  w.__cspViolations = [];
  for (const name of names) {
    document.addEventListener(`momentum:${name}`, (event: Event) => {
      const detail = (event as CustomEvent).detail;
      w.__momentumEvents.push({
        type: event.type,
        detail: detail === undefined ? null : JSON.parse(JSON.stringify(detail)),
        target: (event.target as Element).tagName?.toLowerCase() ?? '#document',
      });
    });
  }
  // `sample` is the start of the offending value (for Trusted Types: "<sink>|<value>"), `source`
  // and `line` where it was assigned.
  document.addEventListener('securitypolicyviolation', (e) =>
    w.__cspViolations.push({
      directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, source: e.sourceFile, line: e.lineNumber,
    }),
  );
}
