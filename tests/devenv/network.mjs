// Starts a real local AT Protocol network (@atproto/dev-env's TestNetwork: PLC directory, PDS,
// AppView backed by PostgreSQL and Redis), seeds the accounts given as JSON on argv[2], prints
// one JSON line with the URLs and DIDs, then runs until its standard input closes. `gone`
// (handle → deleted | deactivated | takendown) removes accounts after seeding.
// Needs DB_POSTGRES_URL and REDIS_HOST (set by tests/devenv.py).
import dns from 'node:dns'
import { TestNetwork, TestPds } from '@atproto/dev-env'

// Names under LOOPBACK_DOMAIN (e.g. `app.passerelle.internal`: `.internal` is for private use, and the PDS refuses `.test` client ids) are this machine: a hosted
// Passerelle stand-in, behind a TLS front whose CA NODE_EXTRA_CA_CERTS trusts, answers there. The
// PDS then fetches a confidential client's metadata over https as it would on the internet.
// (Node's sockets look names up through `dns.lookup` when no other lookup is given, as the
// PDS's fetch does with SSRF protection off, in dev mode.)
const loopbackDomain = process.env.LOOPBACK_DOMAIN
if (loopbackDomain) {
  const lookup = dns.lookup
  dns.lookup = function (host, options, callback) {
    if (typeof options === 'function') { callback = options; options = {} }
    if (host === loopbackDomain || host.endsWith('.' + loopbackDomain)) {
      const all = typeof options === 'object' && options && options.all
      return process.nextTick(() => all
        ? callback(null, [{ address: '127.0.0.1', family: 4 }])
        : callback(null, '127.0.0.1', 4))
    }
    return lookup.call(this, host, options, callback)
  }
}

const seed = JSON.parse(process.argv[2] || '{"accounts": []}')
const network = await TestNetwork.create({ dbPostgresSchema: 'passerelle' })
const sc = network.getSeedClient()
// A second PDS on the same PLC directory (another provider, or one the user runs), for accounts
// seeded with `"pds": 2`; it proxies app.bsky reads to the network's AppView, as a PDS does.
let pds2 = null
if (seed.accounts.some((a) => a.pds === 2)) {
  pds2 = await TestPds.create({
    didPlcUrl: network.plc.url,
    bskyAppViewUrl: network.bsky.url,
    bskyAppViewDid: network.bsky.serverDid,
    inviteRequired: false,
  })
}
const accounts = []
for (const a of seed.accounts) {
  const short = a.handle.split('.')[0]
  if (a.pds === 2) {
    const agent = pds2.getAgent()
    const created = await agent.createAccount({
      handle: a.handle,
      email: `${short}@example.test`,
      password: a.password || 'hunter2-hunter2',
    })
    accounts.push({ handle: a.handle, did: created.data.did })
    continue
  }
  const account = await sc.createAccount(short, {
    handle: a.handle,
    email: `${short}@example.test`,
    password: a.password || 'hunter2-hunter2',
  })
  if (a.displayName !== undefined) {
    // The profile record as the app writes it (no avatar: the npm package ships no images).
    await sc.agent.app.bsky.actor.profile.create(
      { repo: account.did },
      { displayName: a.displayName, description: a.description || '', createdAt: new Date().toISOString() },
      sc.getHeaders(account.did),
    )
  }
  accounts.push({ handle: a.handle, did: account.did })
}
for (const [from, to] of seed.follows || []) {
  await sc.follow(sc.dids[from.split('.')[0]] || accounts.find((a) => a.handle === from).did,
    accounts.find((a) => a.handle === to).did)
}
// Accounts that are gone since the look-up: deleted, deactivated by their owner, or taken down
// by the PDS's administrator (as a moderation action would).
const admin = { headers: network.pds.adminAuthHeaders(), encoding: 'application/json' }
for (const [handle, how] of Object.entries(seed.gone || {})) {
  const did = accounts.find((a) => a.handle === handle).did
  if (how === 'deleted') {
    await sc.agent.com.atproto.admin.deleteAccount({ did }, admin)
  } else if (how === 'takendown') {
    await sc.agent.com.atproto.admin.updateSubjectStatus({
      subject: { $type: 'com.atproto.admin.defs#repoRef', did },
      takedown: { applied: true, ref: 'passerelle-test' },
    }, admin)
  } else if (how === 'deactivated') {
    await sc.agent.com.atproto.server.deactivateAccount({}, { headers: sc.getHeaders(did), encoding: 'application/json' })
  } else {
    throw new Error(`unknown way to be gone: ${how}`)
  }
}
await network.processAll()
process.stdout.write(JSON.stringify({
  appview: network.bsky.url,
  pds: network.pds.url,
  pds2: pds2 ? pds2.url : null,
  plc: network.plc.url,
  accounts,
}) + '\n')

const stop = async () => {
  try {
    if (pds2) await pds2.close()
    await network.close()
  } finally { process.exit(0) }
}
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
process.on('SIGTERM', stop)
