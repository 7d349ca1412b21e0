import { imagePropertySuite } from './image-property-suite.js';

imagePropertySuite('sqlite');
