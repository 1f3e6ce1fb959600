-- DeleteSession: only the owner's, or anyone's when @user_id is empty.
DELETE FROM sessions
WHERE session_id = @session_id AND (@user_id::text = '' OR user_id = @user_id::text)
