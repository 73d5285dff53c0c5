from emulator.launch import main

main()
