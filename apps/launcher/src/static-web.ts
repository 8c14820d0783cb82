import { existsSync } from 'node:fs';
import express, { type Express } from 'express';

/**
 * The page's Content-Security-Policy: scripts only from our origin, no eval, sockets only
 * to our origin — any script injection on this page would be a shell. Styles allow
 * inline because xterm.js writes style elements for its renderer.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** Serves the built web page with its security headers. */
export function mountStaticWeb(app: Express, dir: string): void {
  if (!existsSync(dir)) {
    app.get('/', (_req, res) => {
      res.status(503).type('text').send(`The web page is not built (no ${dir}). Run: npm run build`);
    });
    return;
  }
  app.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  app.use(express.static(dir, { index: 'index.html', maxAge: 0 }));
}
