-- ResetAttempts: forget the key's failures.
DELETE FROM login_attempts WHERE attempt_key = @attempt_key
