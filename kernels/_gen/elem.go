package main

func genElem() {}
