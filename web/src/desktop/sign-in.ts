import { el } from '../dom';

/**
 * The card shown instead of (or over) the desktop when there is no usable token: the
 * reason in the server's or our words, and how to sign in in each mode.
 */
export function signInCard(reason: string): HTMLElement {
  return el('div', { className: 'signin', attrs: { role: 'alertdialog', 'aria-labelledby': 'signin-title' } }, [
    el('div', 'signin-card', [
      el('div', 'brand signin-brand', [
        el('span', 'brand-mark', ['C']),
        el('span', { className: 'brand-name', text: 'ChingTech OS' }),
      ]),
      el('h1', { text: 'Sign in to continue', attrs: { id: 'signin-title' } }),
      el('p', { className: 'signin-reason', text: reason }),
      el('ul', 'signin-steps', [
        el('li', {}, [
          el('strong', { text: 'Started it with npm start? ' }),
          'Open the login link it printed (it ends in ',
          el('code', { text: '/?login=…' }),
          '). Each link works once; restart the server for a new one.',
        ]),
        el('li', {}, [
          el('strong', { text: 'Started it with npm run cluster? ' }),
          'Paste the ',
          el('code', { text: "localStorage.setItem('ctos.token', …)" }),
          ' line it printed into this page’s browser console.',
        ]),
        el('li', {}, [
          el('strong', { text: 'Using it through your organisation? ' }),
          'Sign in again from the application that opened this page.',
        ]),
      ]),
    ]),
  ]);
}
