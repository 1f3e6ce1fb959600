// Package mailerfn is the composition root of the mail sender function
// (functions/mailer): the outbox store, a transport (SES v2 or SMTP) and
// mail.Sender, behind one handler for the two events that start it, a
// DynamoDB Streams batch of new messages and the scheduled sweep.
package mailerfn
