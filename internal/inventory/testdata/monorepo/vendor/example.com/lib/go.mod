module example.com/lib

go 1.21

require code.gitea.io/gitea v1.0.0
