// The IdP hosts of Extensible SSO payloads, read from `profiles show -output stdout-xml`'s
// plist (its layout: user or _computerlevel → profiles → ProfileItems → payloads).
import test from 'ava';
import { build, parse } from 'plist';
import { ssoTargetsFromProfiles } from '../../agent/trust/sso-targets.js';

const profilesOutput = build({
  _computerlevel: [
    {
      ProfileIdentifier: 'com.acme.sso',
      ProfileItems: [
        {
          PayloadType: 'com.apple.extensiblesso',
          PayloadContent: {
            ExtensionIdentifier: 'com.acme.sso.extension',
            TeamIdentifier: 'ABCDE12345',
            Type: 'Redirect',
            URLs: [
              'https://login.acme.example/oauth2',
              'https://login.acme.example:8443/saml',
              'http://insecure.example/',
              'not a url',
            ],
          },
        },
        { PayloadType: 'com.apple.security.pkcs1', PayloadContent: { URLs: ['https://ignored.example/'] } },
      ],
    },
  ],
  alice: [
    {
      ProfileItems: [
        {
          PayloadType: 'com.apple.extensiblesso',
          PayloadContent: { Type: 'Credential', Hosts: ['.acme.example'], Realm: 'ACME.EXAMPLE' },
        },
        { PayloadType: 'com.apple.extensiblesso', PayloadContent: { URLs: ['https://idp.other.example/'] } },
      ],
    },
  ],
});

test('https URLs of Extensible SSO payloads become https://host/ targets, once each, sorted', (t) => {
  t.deepEqual(ssoTargetsFromProfiles(parse(profilesOutput)), [
    'https://idp.other.example/',
    'https://login.acme.example/',
    'https://login.acme.example:8443/',
  ]);
});

test('no payloads, odd shapes and deep nesting give no targets and no error', (t) => {
  t.deepEqual(ssoTargetsFromProfiles({}), []);
  t.deepEqual(ssoTargetsFromProfiles(null), []);
  t.deepEqual(ssoTargetsFromProfiles({ PayloadType: 'com.apple.extensiblesso', URLs: 'https://x.example/' }), []);
  let deep: unknown = { PayloadType: 'com.apple.extensiblesso', URLs: ['https://deep.example/'] };
  for (let i = 0; i < 100; i++) deep = [deep];
  t.deepEqual(ssoTargetsFromProfiles(deep), []);
});
