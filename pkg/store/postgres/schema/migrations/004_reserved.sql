-- Reserved: another branch's migration takes number 004 (tern needs the
-- numbers without a gap). This file gives way to it when both are merged.
SELECT 1;
