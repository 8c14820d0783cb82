/**
 * Copies text to the clipboard: the async Clipboard API where the page is a secure
 * context (https, or 127.0.0.1 in embedded mode), else the legacy copy command on a
 * throw-away text area.
 * @returns whether the text was copied.
 */
export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused: try the legacy path below.
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false; // no clipboard access at all in this browser
  } finally {
    area.remove();
  }
}
