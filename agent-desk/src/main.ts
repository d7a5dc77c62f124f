// Where the pages start: who is logged in decides which page this is. Officers and
// interpreters get the desk (`desk/page.ts`), administrators the fleet and statistics
// (`admin/page.ts`); anyone else the login. Everything the pages say is in `i18n.ts`.
import './styles.css';
import { api, ApiFailure } from './api/client';
import type { MeResponse } from './api/rest';
import { loginPage } from './login';
import { deskPage } from './desk/page';
import { adminPage } from './admin/page';
import { applyLanguage, onLanguageChange } from './i18n';

const root = document.getElementById('app') as HTMLElement;

async function show(me: MeResponse | null): Promise<void> {
  applyLanguage();
  if (!me) {
    loginPage(root, (account) => void show(account));
  } else if (me.role === 'admin') {
    await adminPage(root, me);
  } else {
    await deskPage(root, me);
  }
}

async function start(): Promise<void> {
  let me: MeResponse | null = null;
  try {
    me = await api.get<MeResponse>('/api/me');
  } catch (failure) {
    if (!(failure instanceof ApiFailure && failure.status === 401)) console.error(failure);
  }
  // Changing language redraws the page from the start; a call in progress would be cut, so
  // the desk asks before (see `languageSwitch`).
  onLanguageChange(() => location.reload());
  await show(me);
}

void start();
