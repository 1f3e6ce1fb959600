// Package names normalises the usernames people type (PRECIS
// UsernameCaseMapped, one script per name). It is apart from package users,
// whose types every store links, because its Unicode tables weigh about
// 300 KB: only the functions that take a typed username link it.
package names
