/**
 * The shapes of Atelier's credentials and ids (CONTRACT.md, "Keys and tokens"). A
 * credential is a prefix naming its kind and 32 random bytes in base64url (43
 * characters), so a pasted or leaked string says what it is.
 */
export const SECRET_KEY_PATTERN = /^sk_(live|test)_[A-Za-z0-9_-]{43}$/;
export const PUBLISHABLE_KEY_PATTERN = /^pk_(live|test)_[A-Za-z0-9_-]{43}$/;
export const RUNNER_TOKEN_PATTERN = /^rt_[A-Za-z0-9_-]{43}$/;
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/=]{24,}$/;

/** Public ids carry a type prefix (`gen_…`, `img_…`) and 15 random bytes. */
export const ID_PATTERN = /^[a-z]{3}_[A-Za-z0-9_-]{20}$/;
