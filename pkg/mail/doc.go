// Package mail delivers the outbox (package outbox): a Sender claims a
// message, renders it from its kind's templates, sends it through a
// Transport (Amazon SES v2, SMTP, or the local server's Mailbox) and marks
// it sent under its lease, so a retry never sends it twice; failures back
// off, and permanent ones are kept and logged as "mail_failed".
package mail
