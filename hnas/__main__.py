from hnas.cli import main

main()
