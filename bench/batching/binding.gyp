{ "targets": [ { "target_name": "mmsg", "sources": [ "mmsg.c" ] } ] }
