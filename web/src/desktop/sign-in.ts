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
          el('strong', { text: 'Running it on this computer? ' }),
          'Open the login link the server printed when it started (it ends in ',
          el('code', { text: '/?login=…' }),
          '). Each link works once; restart the server for a new one.',
        ]),
        el('li', {}, [
          el('strong', { text: 'Using it through your organisation? ' }),
          'Sign in again from the application that opened this page.',
        ]),
      ]),
    ]),
  ]);
}
