// OpenAI's multipart and binary endpoints through the official openai
// SDK: audio transcriptions (whole and streamed) and translations, image
// edits and variations, routed by their model form field and forwarded
// unchanged; speech relayed byte for byte as it comes; models.retrieve.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { fusion, rawRequest } from './v1-helpers.js';

async function setup(t) {
  const f = await fusion(t);
  const audio = await f.upstream({ name: 'audio', models: ['whisper-1', 'gpt-4o-mini-tts'] });
  const image = await f.upstream({ name: 'image', models: ['gpt-image-1'] });
  const claude = await f.upstream({ name: 'claude', flavor: 'anthropic' });
  const g = await f.group({ priority: 10 });
  const p = await f.provider(g, audio, { models: ['whisper-1', 'gpt-4o-mini-tts'] });
  await f.provider(g, image, { models: ['gpt-image-1'] });
  await f.provider(g, claude, { models: ['claude-x'] });
  const ck = await f.clientKey();
  return { f, audio, image, claude, p, ck, ai: f.openai(ck.key) };
}

const wav = () => toFile(Buffer.from('RIFF\0\0\0\0WAVEfmt fake audio bytes'), 'hello.wav', { type: 'audio/wav' });

test('transcriptions, translations, image edits and variations: routed by the model field, the form forwarded unchanged', async (t) => {
  const { f, audio, image, p, ai } = await setup(t);
  const tr = await ai.audio.transcriptions.create({ file: await wav(), model: 'whisper-1', language: 'en' });
  assert.equal(tr.text, 'Transcribed speech.');
  const rec = audio.requests.at(-1);
  assert.equal(rec.path, '/v1/audio/transcriptions');
  assert.deepEqual(rec.form, { model: 'whisper-1', language: 'en' });
  assert.equal(rec.files.file.name, 'hello.wav');
  assert.equal(rec.rejected, undefined);

  const tl = await ai.audio.translations.create({ file: await wav(), model: 'whisper-1' });
  assert.equal(tl.text, 'Transcribed speech.');

  const png = await toFile(Buffer.from('\x89PNG fake'), 'in.png', { type: 'image/png' });
  const ed = await ai.images.edit({ image: png, prompt: 'a hat', model: 'gpt-image-1' });
  assert.equal(ed.data[0].b64_json, Buffer.from('png').toString('base64'));
  assert.equal(image.requests.at(-1).path, '/v1/images/edits');
  assert.equal(image.requests.at(-1).form.prompt, 'a hat');
  const va = await ai.images.createVariation({ image: await toFile(Buffer.from('\x89PNG'), 'v.png', { type: 'image/png' }), model: 'gpt-image-1' });
  assert.equal(va.data.length, 1);

  // A streamed transcription ends on transcript.text.done: no error, the key active.
  const stream = await ai.audio.transcriptions.create({ file: await wav(), model: 'whisper-1', stream: true });
  let text = '';
  let done = null;
  for await (const ev of stream) {
    if (ev.type === 'transcript.text.delta') text += ev.delta;
    if (ev.type === 'transcript.text.done') done = ev;
  }
  assert.equal(text, 'Transcribed speech.');
  assert.equal(done.text, 'Transcribed speech.');
  assert.equal((await f.keyState(p.keys[0].id)).status, 'active');
  const logs = await f.waitLogs(5);
  assert.ok(logs.data.every((r) => r.outcome === 'ok'), JSON.stringify(logs.data.map((r) => [r.path, r.error])));
});

test('multipart without a model, or not multipart at all: a clear 400; a model only an anthropic provider serves: 400', async (t) => {
  const { f, ck, audio } = await setup(t);
  const form = new FormData();
  form.append('file', new Blob(['x']), 'a.wav');
  const r = await fetch(`${f.gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${ck.key}` }, body: form });
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /model/);
  const bad = await rawRequest(`${f.gw.url}/v1/audio/transcriptions`, {
    method: 'POST', headers: { authorization: `Bearer ${ck.key}`, 'content-type': 'multipart/form-data; boundary=zz' }, raw: 'not a form',
  });
  assert.equal(bad.status, 400, bad.text);
  const form2 = new FormData();
  form2.append('model', 'claude-x');
  form2.append('file', new Blob(['x']), 'a.wav');
  const r2 = await fetch(`${f.gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${ck.key}` }, body: form2 });
  assert.equal(r2.status, 400);
  assert.equal((await r2.json()).error.code, 'unsupported_endpoint');
  assert.equal(audio.requests.length, 0);
});

test('speech: the audio bytes relayed as they come, with their content type', async (t) => {
  const { f, audio, p, ai } = await setup(t);
  audio.behave('default', { chunks: 5, chunkDelayMs: 30 });
  const res = await ai.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello' });
  assert.equal(res.headers.get('content-type'), 'audio/mpeg');
  const got = Buffer.from(await res.arrayBuffer());
  assert.ok(got.equals(audio.requests.at(-1).audio), 'the bytes differ from what the upstream sent');
  assert.equal((await f.keyState(p.keys[0].id)).status, 'active');
  const log = await f.waitLogs(1);
  assert.equal(log.data[0].outcome, 'ok');
});

test('models.retrieve: the model object, or OpenAI\'s 404', async (t) => {
  const { ai } = await setup(t);
  const m = await ai.models.retrieve('whisper-1');
  assert.equal(m.id, 'whisper-1');
  assert.equal(m.object, 'model');
  const e = await ai.models.retrieve('nope').then(() => null, (err) => err);
  assert.equal(e?.status, 404);
  assert.equal(e.code, 'model_not_found');
});
