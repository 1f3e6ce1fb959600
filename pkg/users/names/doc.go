// Package names normalises the usernames people type (PRECIS
// UsernameCaseMapped, one script per name) and computes their UTS #39
// skeletons, under which look-alike names are one name. It is apart from
// package users, whose types every store links, because its Unicode tables
// weigh about 360 KB: only the functions that take a typed username link it.
package names
