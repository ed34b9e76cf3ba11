# A helper with no arguments.
# type: socket
# expect: accept
    call 7
    exit
