import { BUILDS, draft, startCluster, type TestCluster } from './harness';

describe.each(BUILDS)('the producer API (%s)', (build) => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster(build, { env: { MESSAGE_MAX_RECIPIENTS: '3', MESSAGE_API_MAX_BODY_BYTES: '4096' } });
  });
  afterAll(() => cluster.stop());

  it('creates a message for one user and answers its id', async () => {
    const answer = await cluster.post(draft('carol', 'hello'));
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ messages: [{ user_id: 'carol', id: 1, duplicate: false }] });
  });

  it('creates one copy per listed user, each once, with each user’s own id', async () => {
    await cluster.post(draft('dave', 'first'));
    const { user_id: _, ...message } = draft('', 'to both');
    const answer = await cluster.post({ ...message, user_ids: ['dave', 'erin', 'dave'] });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      messages: [
        { user_id: 'dave', id: 2, duplicate: false },
        { user_id: 'erin', id: 1, duplicate: false },
      ],
    });
  });

  it('creates one message when a producer retries the same request three times', async () => {
    const request = draft('frank', 'retried');
    const answers = [];
    for (let attempt = 0; attempt < 3; attempt++) answers.push(await cluster.post(request, { key: 'order-7-shipped' }));
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200]);
    expect(answers.map((a) => a.body)).toEqual([
      { messages: [{ user_id: 'frank', id: 1, duplicate: false }] },
      { messages: [{ user_id: 'frank', id: 1, duplicate: true }] },
      { messages: [{ user_id: 'frank', id: 1, duplicate: true }] },
    ]);
    const page = await cluster.workers[0]!.service.sync('frank', 0, 10);
    expect(page.messages.map((m) => m.title)).toEqual(['retried']);
  });

  it('accepts the key in the body as well as in the header', async () => {
    const request = draft('gina', 'keyed', { idempotency_key: 'evt-1' });
    const first = await cluster.post(request);
    const second = await cluster.post(request, { key: 'evt-1' });
    expect(first.body).toEqual({ messages: [{ user_id: 'gina', id: 1, duplicate: false }] });
    expect(second.body).toEqual({ messages: [{ user_id: 'gina', id: 1, duplicate: true }] });
  });

  it('answers 422 naming idempotency_key when a key is reused for another message', async () => {
    await cluster.post(draft('hank', 'one'), { key: 'reused' });
    const answer = await cluster.post(draft('hank', 'two'), { key: 'reused' });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ code: 'INVALID_PAYLOAD', field: 'idempotency_key' });
  });

  it.each([
    ['no title', draft('ivan', 'x', { title: undefined }), 'title'],
    ['an empty title', draft('ivan', ''), 'title'],
    ['a title too long', draft('ivan', 'x'.repeat(201)), 'title'],
    ['no source', draft('ivan', 'x', { source: undefined }), 'source'],
    ['an unknown severity', draft('ivan', 'x', { severity: 'loud' }), 'severity'],
    ['a number as content', draft('ivan', 'x', { content: 5 }), 'content'],
    ['no recipient', draft('ivan', 'x', { user_id: undefined }), 'user_id'],
    ['both user_id and user_ids', draft('ivan', 'x', { user_ids: ['a'] }), 'user_id'],
    ['an empty recipient list', draft('ivan', 'x', { user_id: undefined, user_ids: [] }), 'user_ids'],
    ['too many recipients', draft('ivan', 'x', { user_id: undefined, user_ids: ['a', 'b', 'c', 'd'] }), 'user_ids'],
    ['a recipient that is not a string', draft('ivan', 'x', { user_id: undefined, user_ids: ['a', 7] }), 'user_ids.1'],
    ['a misspelt field', draft('ivan', 'x', { contents: 'typo' }), 'contents'],
    ['a key with spaces', draft('ivan', 'x', { idempotency_key: 'a b' }), 'idempotency_key'],
    ['an array for a body', [draft('ivan', 'x')], '(body)'],
  ])('answers 400 naming the field for %s, and creates nothing', async (_name, body, field) => {
    const answer = await cluster.post(body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'INVALID_PAYLOAD', field });
    expect(answer.body.error).toEqual(expect.stringContaining(field));
    expect((await cluster.workers[0]!.service.sync('ivan', 0, 10)).latest_id).toBe(0);
  });

  it('answers 400 for a body that is not valid JSON', async () => {
    const answer = await cluster.post(undefined, { raw: '{"user_id": "ivan", ' });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'INVALID_PAYLOAD', field: '(body)' });
  });

  it('answers 400 when the header and the body carry different keys', async () => {
    const answer = await cluster.post(draft('ivan', 'x', { idempotency_key: 'one' }), { key: 'two' });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ field: 'idempotency_key' });
  });

  it('answers 415 for a body that is not JSON', async () => {
    const answer = await cluster.post(undefined, { raw: 'title=x', contentType: 'application/x-www-form-urlencoded' });
    expect(answer.status).toBe(415);
    expect(answer.body).toMatchObject({ code: 'INVALID_PAYLOAD', field: '(body)' });
  });

  it('answers 413 for a body above the size limit', async () => {
    const answer = await cluster.post(draft('ivan', 'big', { content: 'x'.repeat(5000) }));
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it.each([
    ['no token', null],
    ['a wrong token', 'producer-token-for-tests-0123456789abcdeX'],
    ['an empty token', ''],
  ])('answers 401 for %s, and creates nothing', async (_name, token) => {
    const answer = await cluster.post(draft('judy', 'x'), { token });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    expect(answer.body).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await cluster.workers[0]!.service.sync('judy', 0, 10)).latest_id).toBe(0);
  });

  it('answers 404 with JSON for any other endpoint', async () => {
    const response = await fetch(`${cluster.apiUrls[0]}/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND' });
  });
});
