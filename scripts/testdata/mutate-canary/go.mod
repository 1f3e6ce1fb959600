module example.com/mutatecanary

go 1.26
