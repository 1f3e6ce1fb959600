-- EndUserSessions, first statement: move the credential epoch. Its row lock
-- is held until the second statement commits with it.
UPDATE users SET epoch = epoch + 1
WHERE username = @username AND user_id = @user_id
