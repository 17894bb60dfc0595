// The reflector's list, page by page: the next page is asked for before a page is parsed and filed
// (pipelined), the first list of a scope files each page as it arrives, a relist files nothing
// until its last page, and a failure or a stop in the middle leaves no request behind.
import type http from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { KubernetesObject } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, SecretRegistry } from '../../../src/log.js';
import type { ApiGetter } from '../../../src/runtime/connection.js';
import { Informer } from '../../../src/runtime/informer.js';
import { peekContinue } from '../../../src/runtime/api-answers.js';
import type { WatchRestartReason } from '../../../src/runtime/reflector.js';

const logger = createLogger({
  level: 'error',
  format: 'json',
  registry: new SecretRegistry(),
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

function thing(name: string, resourceVersion: string): KubernetesObject {
  return { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { namespace: 'ns', name, resourceVersion } };
}

type Order = 'built-in' | 'custom';

/** A list page as the API server writes it: built-in lists put their metadata first, custom resources' lists (keys sorted) last. */
function page(order: Order, items: KubernetesObject[], continueToken?: string, resourceVersion = '10'): string {
  const metadata = { resourceVersion, ...(continueToken !== undefined && { continue: continueToken }) };
  return order === 'built-in'
    ? JSON.stringify({ kind: 'ThingList', apiVersion: 'example.com/v1', metadata, items })
    : `${JSON.stringify({ apiVersion: 'example.com/v1', items, kind: 'ThingList', metadata })}\n`;
}

interface Answer {
  status?: number;
  body: string;
}

interface Asked {
  continueToken: string | null;
  signal: AbortSignal;
}

/**
 * An ApiGetter that answers lists from the test's `answer` (undefined: never answers) and holds
 * every watch open until its request is aborted (or answers the test's `watch`), recording
 * every list it was asked for, at the moment it was asked.
 */
class FakeGetter implements ApiGetter {
  readonly lists: Asked[] = [];
  watches = 0;
  constructor(
    private readonly answer: (asked: Asked, listNumber: number) => Answer | undefined,
    private readonly watch: (watchNumber: number) => Answer | undefined = () => undefined,
  ) {}

  get(pathAndQuery: string, signal: AbortSignal): Promise<http.IncomingMessage> {
    const query = new URL(pathAndQuery, 'http://fake').searchParams;
    if (query.get('watch') === '1') return this.respond(this.watch(++this.watches), signal);
    const asked = { continueToken: query.get('continue'), signal };
    this.lists.push(asked);
    return this.respond(this.answer(asked, this.lists.length), signal);
  }

  private respond(answer: Answer | undefined, signal: AbortSignal): Promise<http.IncomingMessage> {
    const aborted = (): Error => Object.assign(new Error('aborted'), { name: 'AbortError' });
    if (signal.aborted) return Promise.reject(aborted());
    if (answer === undefined) {
      // Never answers: the request hangs until it is aborted, as a slow API server's would.
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(aborted())));
    }
    const stream = Readable.from([Buffer.from(answer.body)]);
    return Promise.resolve(
      Object.assign(stream, { statusCode: answer.status ?? 200 }) as unknown as http.IncomingMessage,
    );
  }
}

interface Watched {
  informer: Informer;
  events: string[];
  restarts: WatchRestartReason[];
  /** How many lists had been asked for when each object was filed. */
  listsAskedAt: Record<string, number>;
}

function informerOn(getter: FakeGetter): Watched {
  const events: string[] = [];
  const restarts: WatchRestartReason[] = [];
  const listsAskedAt: Record<string, number> = {};
  const informer = new Informer({
    getter,
    resource: { group: 'example.com', version: 'v1', plural: 'things' },
    logger,
    metrics: { watchRestarted: (reason) => restarts.push(reason) },
    backoffInitialMs: 1,
    backoffMaxMs: 2,
    listPageSize: 2,
  });
  const at = (object: KubernetesObject): void => {
    listsAskedAt[`${object.metadata?.name}@${object.metadata?.resourceVersion}`] = getter.lists.length;
  };
  informer.addHandlers({
    onAdd: (object, initial) => {
      at(object);
      events.push(`add ${object.metadata?.name}${initial ? ' (initial)' : ''}`);
    },
    onUpdate: (_previous, current) => {
      at(current);
      events.push(`update ${current.metadata?.name}@${current.metadata?.resourceVersion}`);
    },
    onDelete: (object) => events.push(`delete ${object.metadata?.name}`),
  });
  return { informer, events, restarts, listsAskedAt };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let tries = 0; !condition(); tries++) {
    if (tries > 1000) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

for (const order of ['built-in', 'custom'] as const) {
  test(`${order} list: every page is filed in order, and the next page is asked for before a page is parsed and filed`, async () => {
    const pages: Record<string, string> = {
      first: page(order, [thing('a', '1'), thing('b', '2')], 'p2'),
      p2: page(order, [thing('c', '3'), thing('d', '4')], 'p3'),
      p3: page(order, [thing('e', '5')]),
    };
    const getter = new FakeGetter(({ continueToken }) => ({ body: pages[continueToken ?? 'first'] ?? '' }));
    const { informer, events, listsAskedAt } = informerOn(getter);
    try {
      informer.start();
      assert.is(await informer.waitForSync(), true);
      assert.equal(
        getter.lists.map(({ continueToken }) => continueToken),
        [null, 'p2', 'p3'],
      );
      assert.equal(events, [
        'add a (initial)',
        'add b (initial)',
        'add c (initial)',
        'add d (initial)',
        'add e (initial)',
      ]);
      // The first list of a scope files each page as it comes, after asking for the next one.
      assert.equal(listsAskedAt, { 'a@1': 2, 'b@2': 2, 'c@3': 3, 'd@4': 3, 'e@5': 3 });
      assert.equal(
        informer.list().map((object) => object.metadata?.name),
        ['a', 'b', 'c', 'd', 'e'],
      );
    } finally {
      await informer.stop();
    }
  });
}

test('a page that fails in the middle of the first list: the list is retried, and what only the failed list named goes', async () => {
  const getter = new FakeGetter((_asked, listNumber) => {
    if (listNumber === 1) return { body: page('custom', [thing('a', '1'), thing('x', '2')], 'p2') };
    if (listNumber === 2) return { status: 500, body: JSON.stringify({ kind: 'Status', code: 500, message: 'etcd' }) };
    return { body: page('custom', [thing('a', '1')]) };
  });
  const { informer, events, restarts } = informerOn(getter);
  try {
    informer.start();
    assert.is(await informer.waitForSync(), true);
    assert.equal(restarts, ['list_failed']);
    assert.equal(
      getter.lists.map(({ continueToken }) => continueToken),
      [null, 'p2', null],
    );
    assert.equal(events, ['add a (initial)', 'add x (initial)', 'delete x']);
    assert.equal(
      informer.list().map((object) => object.metadata?.name),
      ['a'],
    );
  } finally {
    await informer.stop();
  }
});

test('a page that cannot be parsed aborts the page already asked for after it', async () => {
  const unparsable = `{"kind":"ThingList","apiVersion":"example.com/v1","metadata":{"continue":"p2"},"items":[{"metadata":`;
  const getter = new FakeGetter((_asked, listNumber) =>
    listNumber === 1
      ? { body: unparsable }
      : listNumber === 2
        ? undefined
        : { body: page('built-in', [thing('a', '1')]) },
  );
  const { informer, restarts } = informerOn(getter);
  try {
    informer.start();
    assert.is(await informer.waitForSync(), true);
    assert.equal(restarts, ['list_failed']);
    const [, ahead] = getter.lists;
    assert.is(ahead?.continueToken, 'p2', 'asked for ahead, from the page head');
    assert.is(ahead?.signal.aborted, true, 'and aborted when its page failed');
    assert.ok(informer.get('ns', 'a'));
  } finally {
    await informer.stop();
  }
});

test('a wrong guess of the next page is dropped and the page the parsed list names is asked for', async () => {
  // Two metadata keys: the head says "guess", JSON.parse keeps the last one, "real".
  const misleading = `{"kind":"ThingList","apiVersion":"example.com/v1","metadata":{"continue":"guess"},"items":[${JSON.stringify(thing('a', '1'))}],"metadata":{"resourceVersion":"10","continue":"real"}}`;
  const getter = new FakeGetter(({ continueToken }) =>
    continueToken === null
      ? { body: misleading }
      : continueToken === 'guess'
        ? undefined
        : { body: page('built-in', [thing('b', '2')]) },
  );
  const { informer } = informerOn(getter);
  try {
    informer.start();
    assert.is(await informer.waitForSync(), true);
    assert.equal(
      getter.lists.map(({ continueToken, signal }) => `${continueToken}${signal.aborted ? ' (aborted)' : ''}`),
      ['null', 'guess (aborted)', 'real'],
    );
    assert.equal(
      informer.list().map((object) => object.metadata?.name),
      ['a', 'b'],
    );
  } finally {
    await informer.stop();
  }
});

test('stopping in the middle of a list aborts the page in flight; nothing is left running or unhandled', async () => {
  const getter = new FakeGetter((_asked, listNumber) =>
    listNumber === 1 ? { body: page('custom', [thing('a', '1')], 'p2') } : undefined,
  );
  const { informer } = informerOn(getter);
  informer.start();
  await waitFor(() => getter.lists.length === 2, 'the second page asked for');
  await informer.stop();
  assert.is(getter.lists[1]?.signal.aborted, true);
  assert.is(informer.hasSynced(), false);
  assert.is(getter.watches, 0, 'no watch without a whole list');
});

test('a relist files nothing before its last page, then removes and updates at once; a relist that fails changes nothing', async () => {
  const answers: Answer[] = [
    { body: page('custom', [thing('a', '1'), thing('b', '2')], undefined, '10') },
    // The first relist fails at its second page, the second one completes.
    { body: page('custom', [thing('a', '7'), thing('c', '8')], 'p2', '20') },
    { status: 500, body: '{}' },
    { body: page('custom', [thing('a', '7'), thing('c', '8')], 'p2', '20') },
    { body: page('custom', [thing('d', '9')], undefined, '20') },
  ];
  const getter = new FakeGetter(
    (_asked, listNumber) => answers[listNumber - 1],
    (watchNumber) =>
      watchNumber === 1 ? { status: 410, body: JSON.stringify({ kind: 'Status', code: 410 }) } : undefined,
  );
  const { informer, events, restarts, listsAskedAt } = informerOn(getter);
  try {
    informer.start();
    assert.is(await informer.waitForSync(), true);
    const afterFirstList = informer.changes;
    await waitFor(() => getter.watches === 2, 'the watch after the relist');
    assert.is(afterFirstList, 2, 'a and b: two changes of the cache');
    assert.is(informer.changes, 6, 'b deleted, a updated, c and d added: four more');
    assert.equal(restarts, ['expired', 'list_failed']);
    assert.equal(events, ['add a (initial)', 'add b (initial)', 'delete b', 'update a@7', 'add c', 'add d']);
    // The relist's objects were filed once both its pages had come.
    assert.is(getter.lists.length, 5);
    assert.is(listsAskedAt['a@7'], 5);
  } finally {
    await informer.stop();
  }
});

test('peekContinue finds the token at the head of a built-in list and at the tail of a custom resources list, and nothing else', () => {
  assert.is(peekContinue(page('built-in', [thing('a', '1')], 'abc_-=')), 'abc_-=');
  assert.is(peekContinue(page('custom', [thing('a', '1')], 'xyz')), 'xyz');
  assert.is(peekContinue(page('built-in', [thing('a', '1')])), undefined, 'the last page');
  assert.is(peekContinue(page('custom', [thing('a', '1')])), undefined, 'the last page');
  assert.is(
    peekContinue('{"kind":"List","apiVersion":"v1","metadata":{"continue":"t","remainingItemCount":4},"items":[]}'),
    't',
  );
  assert.is(peekContinue('{"items":[{"metadata":{"continue":"not-the-list"}}]}'), undefined);
  assert.is(peekContinue('{"kind":"Status","code":500}'), undefined);
  assert.is(peekContinue('{"metadata":{"continue":'), undefined);
  assert.is(peekContinue('not json'), undefined);
});

test.run();
