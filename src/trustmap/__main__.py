from trustmap.cli.app import main

main()
