// Logging in with a local account. An agency's single sign-on (OIDC) would take this place.
import { h, field, replace } from './dom';
import { t, languageSwitch } from './i18n';
import { api, ApiFailure } from './api/client';
import type { LoginRequest, MeResponse } from './api/rest';

export function loginPage(root: HTMLElement, loggedIn: (me: MeResponse) => void): void {
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'login panel' },
    field(t('login.username'), username),
    field(t('login.password'), password),
    error,
    h('button', { type: 'submit', class: 'primary' }, t('login.submit')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const body: LoginRequest = { username: username.value.trim(), password: password.value };
      loggedIn(await api.post<MeResponse>('/api/login', body));
    } catch (failure) {
      const text = !(failure instanceof ApiFailure) ? String(failure)
        : failure.status === 401 ? t('login.wrong')
        : failure.status === 429 ? t('login.throttled', { seconds: failure.retryAfter ?? 60 })
        : failure.status === 0 ? t('login.network') : failure.message;
      replace(error, h('p', { class: 'error', role: 'alert' }, text));
      password.select();
    }
  });
  replace(root,
    h('header', { class: 'page-header' }, h('p', { class: 'brand' }, 'Nära'), languageSwitch()),
    h('main', { id: 'main', class: 'login-page', tabindex: -1 },
      h('h1', {}, t('login.title')),
      h('p', {}, t('login.intro')),
      form,
    ),
  );
  username.focus();
}
