// What the desk says when the broker refuses a request: chosen by the refusal's code and the
// request it names, in the desk's language. The broker's own words are for the console.
import { t, type MessageKey } from '../i18n';
import type { DeskToBroker, ErrorCode } from '../protocol/protocol';

const REASONS: Partial<Record<ErrorCode, MessageKey>> = {
  agencyUnknown: 'refusal.agencyUnknown',
  agencyClosed: 'refusal.agencyClosed',
  languageNotServed: 'refusal.languageNotServed',
  offerGone: 'refusal.offerGone',
  callGone: 'refusal.callGone',
  notOwner: 'refusal.notOwner',
  inCall: 'refusal.inCall',
  alreadyInvited: 'refusal.alreadyInvited',
  transferUnderway: 'refusal.transferUnderway',
  sameQueue: 'refusal.sameQueue',
  ownerCannotLeave: 'refusal.ownerCannotLeave',
  rateLimited: 'refusal.rateLimited',
  internal: 'refusal.internal',
  sessionEnded: 'refusal.sessionEnded',
};

const REQUESTS: Partial<Record<DeskToBroker['type'], MessageKey>> = {
  setStatus: 'request.setStatus',
  acceptOffer: 'request.acceptOffer',
  declineOffer: 'request.declineOffer',
  requestDocument: 'request.requestDocument',
  invite: 'request.invite',
  transfer: 'request.transfer',
  leaveCall: 'request.leaveCall',
  endCall: 'request.endCall',
};

/** "Överlämning: Myndigheten har stängt just nu." — what was refused, and why. */
export function refusal(code: ErrorCode, request: DeskToBroker | undefined): string {
  const why = t(REASONS[code] ?? 'refusal.other');
  const what = request && REQUESTS[request.type];
  return what ? `${t(what)}: ${why}` : why;
}
