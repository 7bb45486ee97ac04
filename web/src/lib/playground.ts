// The playground's chat: POST /api/admin/playground/chat/completions on
// the session cookie (the browser never holds a client key), read as a
// server-sent event stream as it comes. The gateway's own request id
// (x-fusion-request-id) names the request in the log, whose entry holds
// the provider, key, trace, time to first byte and tokens.
import { ApiError } from './api';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatResult {
  requestId: string | null;
  text: string;
  // The stream ended with an error event, or was cut: its message.
  error?: string;
}

// The data of each complete event in buf; what is left of an event not
// yet complete goes back in rest.
export function sseEvents(buf: string): { events: string[]; rest: string } {
  const events: string[] = [];
  const blocks = buf.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data) events.push(data);
  }
  return { events, rest };
}

export async function playgroundChat(
  model: string,
  messages: ChatMessage[],
  onDelta: (text: string) => void,
  signal?: AbortSignal,
): Promise<ChatResult> {
  const res = await fetch('/api/admin/playground/chat/completions', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ model, messages, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  const requestId = res.headers.get('x-fusion-request-id');
  if (!res.ok || !res.body) {
    const text = await res.text();
    let msg = `${res.status} ${res.statusText || 'error'}`;
    let code = String(res.status);
    try {
      const e = JSON.parse(text).error;
      msg = e?.message || msg;
      code = e?.code || code;
    } catch {
      /* not JSON */
    }
    throw Object.assign(new ApiError(res.status, code, msg), { requestId });
  }

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let text = '';
  let done = false;
  let error: string | undefined;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    buf += decoder.decode(chunk.value, { stream: true });
    const { events, rest } = sseEvents(buf);
    buf = rest;
    for (const data of events) {
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      try {
        const ev = JSON.parse(data);
        if (ev.error) error = ev.error.message ?? 'the stream failed';
        const delta = ev.choices?.[0]?.delta?.content;
        if (typeof delta === 'string' && delta) {
          text += delta;
          onDelta(text);
        }
      } catch {
        /* not JSON: skipped */
      }
    }
  }
  if (!done && !error) error = 'the stream ended before its end';
  return { requestId, text, error };
}
