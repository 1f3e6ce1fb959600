-- ResetAttempts: forget the username's failures.
DELETE FROM login_attempts WHERE username = @username
