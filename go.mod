module github.com/mcdedup/mcdedup

go 1.24
