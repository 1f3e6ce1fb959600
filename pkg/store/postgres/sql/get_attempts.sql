-- GetAttempts: the key's failed logins.
SELECT failures, last_failure FROM login_attempts WHERE attempt_key = @attempt_key
