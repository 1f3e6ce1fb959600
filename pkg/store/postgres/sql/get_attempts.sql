-- GetAttempts: the username's failed logins.
SELECT failures, last_failure FROM login_attempts WHERE username = @username
