import { forgetToken, obtainToken } from './auth';
import { connectSocket } from './socket-client';
import { TerminalView } from './terminal-view';
import './styles.css';

async function start(): Promise<void> {
  const app = document.getElementById('app')!;
  app.innerHTML = '';
  const bar = document.createElement('header');
  bar.className = 'bar';
  const title = document.createElement('span');
  title.className = 'brand';
  title.textContent = 'ChingTech OS';
  const status = document.createElement('span');
  status.className = 'status';
  status.textContent = 'connecting…';
  bar.append(title, status);
  const host = document.createElement('main');
  host.className = 'terminal-host';
  app.append(bar, host);

  let token: string | undefined;
  try {
    token = await obtainToken();
  } catch (error) {
    status.textContent = (error as Error).message;
    return;
  }
  if (!token) {
    status.textContent = 'Not signed in: open the login URL the server printed.';
    return;
  }
  const socket = connectSocket(token);
  const view = new TerminalView(socket, host, (text) => (status.textContent = text));
  (window as unknown as { ctos: unknown }).ctos = { socket, view };
  socket.on('connect_error', (error) => {
    const data = (error as Error & { data?: { code?: string; error?: string } }).data;
    if (data?.code === 'UNAUTHORIZED') {
      forgetToken();
      socket.disconnect();
      status.textContent = `${data.error ?? 'Not signed in.'} Open a new login URL.`;
    } else status.textContent = 'reconnecting…';
  });
  socket.on('disconnect', () => (status.textContent = 'reconnecting…'));
  socket.once('connect', async () => {
    const list = await socket.emitWithAck('terminal:list', {});
    const last = list.success ? list.sessions.at(-1) : undefined;
    if (last) await view.attach(last.session_id);
    else await view.create();
    view.term.focus();
  });
}

void start();
