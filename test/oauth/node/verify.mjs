// aws-jwt-verify's simplest setup: `issuer` (and the audience it insists
// on), nothing else. The JWKS comes from its default, <issuer>/.well-known/jwks.json,
// over https. Driven by TestAWSJWTVerify (test/oauth).
//
//   node verify.mjs <issuer> <audience> <token>
import { JwtVerifier } from "aws-jwt-verify";

const [issuer, audience, token] = process.argv.slice(2);
const verifier = JwtVerifier.create({ issuer, audience });
try {
  const payload = await verifier.verify(token);
  console.log(JSON.stringify({ ok: true, sub: payload.sub, iss: payload.iss }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: err.name, message: err.message }));
  process.exitCode = 1;
}
