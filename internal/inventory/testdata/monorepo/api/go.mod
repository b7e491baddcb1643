module example.com/api

go 1.20

require code.gitea.io/gitea v1.11.0

require github.com/hashicorp/vault v1.8.0 // indirect
