import "./style.css";
import { startPortal } from "./app";

const root = document.getElementById("app");
if (root) startPortal(root);
