// Booking a meeting for later: agency, time, language, whether an interpreter is needed. The
// broker answers with a code for the citizen's letter, which they type at any kiosk.
import { h, field, select, replace, announce } from '../dom';
import { t, languageName, formatDateTime } from '../i18n';
import { api, ApiFailure } from '../api/client';
import type { AgencyRow, BookingRow, NewBooking } from '../api/rest';

export function bookingForm(agencies: AgencyRow[], ownAgency: string | null): HTMLElement {
  const result = h('div', { 'aria-live': 'polite' });
  const agency = select('agency', agencies.map((a) => [a.id, a.name]), ownAgency ?? undefined);
  const languages = () => agencies.find((a) => a.id === agency.value)?.languages ?? ['sv'];
  const language = select('language', languages().map((l) => [l, languageName(l)]));
  agency.addEventListener('change', () => replace(language, ...languages().map((l) => h('option', { value: l }, languageName(l)))));
  const when = h('input', { type: 'datetime-local', name: 'when', required: true });
  const interpreter = h('input', { type: 'checkbox', name: 'interpreter', id: 'booking-interpreter' });
  const form = h('form', { class: 'booking' },
    field(t('booking.agency'), agency),
    field(t('booking.when'), when),
    field(t('booking.language'), language),
    h('div', { class: 'field checkbox' }, interpreter, h('label', { for: 'booking-interpreter' }, t('booking.interpreter'))),
    h('button', { type: 'submit', class: 'primary' }, t('booking.create')),
    result,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const at = new Date(when.value).getTime();
    if (Number.isNaN(at)) {
      replace(result, h('p', { class: 'error', role: 'alert' }, t('booking.needTime')));
      return;
    }
    const body: NewBooking = { agency: agency.value, language: language.value, appointmentAt: at, interpreterNeeded: interpreter.checked };
    try {
      const booking = await api.post<BookingRow>('/api/bookings', body);
      replace(result, h('p', { class: 'success' },
        t('booking.created', { time: formatDateTime(booking.appointmentAt) }), ' ',
        h('strong', { class: 'code', 'data-testid': 'booking-code' }, booking.code)));
      announce(t('booking.createdCode', { code: booking.code.split('').join(' ') }));
    } catch (error) {
      replace(result, h('p', { class: 'error', role: 'alert' }, error instanceof ApiFailure ? error.message : String(error)));
    }
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'booking-title' }, h('h2', { id: 'booking-title' }, t('booking.title')), form);
}
