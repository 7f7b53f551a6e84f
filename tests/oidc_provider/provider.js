// A real OpenID provider for the portal's SSO tests: the OpenID Certified `oidc-provider`
// package, configured as a company identity provider would be, plus one deliberate fault.
//
//   node provider.js PORT        serves http://127.0.0.1:PORT (discovery, login page, tokens, logout)
//
// Accounts: the login name typed on the provider's page is the account; any password is
// accepted (devInteractions). Its `employee_no` claim is the login name, except for names
// starting with "noclaim", whose tokens carry no employee number at all.
// Clients (secret = client id + "-secret"):
//   portal-test      the portal; redirect URI https://portal.test/auth/oidc/callback, or
//                    http://127.0.0.1:<any port>/auth/oidc/callback for a portal served locally
//   portal-aud-test  the same, but its ID tokens are re-signed (with the provider's own key)
//                    for the audience "another-app": a token meant for someone else
//   another-app      a second application of the same company
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const PORTAL_REDIRECT = 'https://portal.test/auth/oidc/callback';
const PORTAL_AFTER_LOGOUT = 'https://portal.test/login';
const AUDIENCE_SWAP_CLIENT = 'portal-aud-test';
const LOOPBACK_CALLBACK = /^http:\/\/127\.0\.0\.1:\d+\/auth\/oidc\/callback$/;
const LOOPBACK_AFTER_LOGOUT = /^http:\/\/127\.0\.0\.1:\d+\/login$/;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

function portalClient(clientId) {
  return {
    client_id: clientId,
    client_secret: `${clientId}-secret`,
    redirect_uris: [PORTAL_REDIRECT],
    post_logout_redirect_uris: [PORTAL_AFTER_LOGOUT],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    require_auth_time: true,
  };
}

const configuration = {
  clients: [portalClient('portal-test'), portalClient(AUDIENCE_SWAP_CLIENT), portalClient('another-app')],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['portal-test-provider-cookie-key'] },
  // Scope claims go into the ID token itself, as Entra ID and Keycloak put theirs.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['name', 'employee_no'], email: ['email'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const claims = { sub: id, name: `Test ${id}`, email: `${id.toLowerCase()}@example.co.jp` };
        if (!id.startsWith('noclaim')) claims.employee_no = id;
        return claims;
      },
    };
  },
  // The company's own applications need no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    grant.addOIDCClaims(['employee_no', 'name', 'email']);
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);

// A portal served on a free loopback port (the browser tests) is allowed as a redirect target.
const { redirectUriAllowed, postLogoutRedirectUriAllowed } = provider.Client.prototype;
provider.Client.prototype.redirectUriAllowed = function allowed(value) {
  return redirectUriAllowed.call(this, value) || LOOPBACK_CALLBACK.test(value);
};
provider.Client.prototype.postLogoutRedirectUriAllowed = function allowed(value) {
  return postLogoutRedirectUriAllowed.call(this, value) || LOOPBACK_AFTER_LOGOUT.test(value);
};

function base64url(value) {
  return Buffer.from(value).toString('base64url');
}

// Re-sign an ID token with the provider's key after changing its audience.
function withAudience(idToken, audience) {
  const [header, payload] = idToken.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  const data = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify({ ...payload, aud: audience }))}`;
  const key = createPrivateKey({ key: signingKey, format: 'jwk' });
  return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.oidc?.client?.clientId === AUDIENCE_SWAP_CLIENT
      && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: withAudience(ctx.body.id_token, 'another-app') };
  }
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
